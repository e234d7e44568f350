"""`flows.export.grand_tour`: orthonormal frames, through every given plane, along Grassmann geodesics
(constant rotation per frame), continuous across segments; bad input raises ValueError."""

import numpy as np
import pytest

import flows


def _principal_angles(f, g):
    return np.sort(np.arccos(np.clip(np.linalg.svd(f.T @ g, compute_uv=False), -1.0, 1.0)))


def _planes(m=7, seed=0):
    rng = np.random.default_rng(seed)
    e = np.eye(m)
    return [
        np.stack([e[0], e[1]], axis=1),
        np.stack([e[0], e[4]], axis=1),           # shares the direction e_0: one principal angle is 0
        rng.standard_normal((m, 2)),              # a random plane, non-orthonormal spanning vectors
        np.stack([e[2] + e[3], e[5] - e[6]], 1),  # orthogonal to the first plane: both angles pi/2
        np.stack([e[0], e[1]], axis=1),
    ]


def test_frames_orthonormal_through_the_planes_at_constant_speed():
    """Each frame's columns are orthonormal (1e-12); frame k*S spans plane k (projection matrices equal,
    1e-12) and frame 0 is plane 0 itself; within a segment consecutive frames are the same principal
    angles apart (1e-10), and S of those steps add up to the principal angles between the two planes
    (a geodesic); a plane shared with the previous frame's direction keeps that direction."""
    planes, steps = _planes(), 6
    frames = flows.export.grand_tour(planes, steps)
    assert frames.shape == (1 + 4 * steps, 7, 2)
    np.testing.assert_allclose(np.einsum("tmi,tmj->tij", frames, frames), np.broadcast_to(np.eye(2), (len(frames), 2, 2)), atol=1e-12)
    np.testing.assert_allclose(frames[0], planes[0], atol=1e-15)
    for k, plane in enumerate(planes):
        q, _ = np.linalg.qr(plane)
        f = frames[k * steps]
        np.testing.assert_allclose(f @ f.T, q @ q.T, atol=1e-12)
    for k in range(len(planes) - 1):
        segment = frames[k * steps : (k + 1) * steps + 1]
        step_angles = np.array([_principal_angles(a, b) for a, b in zip(segment[:-1], segment[1:])])
        np.testing.assert_allclose(step_angles, np.broadcast_to(step_angles[0], step_angles.shape), atol=1e-10)
        np.testing.assert_allclose(steps * step_angles[0], _principal_angles(segment[0], segment[-1]), atol=1e-10)
    np.testing.assert_allclose(_principal_angles(frames[0], frames[steps]), [0.0, np.pi / 2], atol=1e-12)
    e0 = np.eye(7)[0]
    for f in frames[: steps + 1]:  # e_0 lies in both planes of the first segment: it stays in every view
        np.testing.assert_allclose(np.linalg.norm(f.T @ e0), 1.0, atol=1e-12)
    np.testing.assert_allclose(_principal_angles(frames[3 * steps], frames[4 * steps]), [np.pi / 2, np.pi / 2], atol=1e-12)


def test_same_plane_and_single_frame_segments():
    """A segment between two spanning sets of the same plane never leaves it (1e-12); one frame per
    segment gives exactly the planes."""
    e = np.eye(4)
    frames = flows.export.grand_tour([np.stack([e[0], e[1]], 1), np.stack([e[1] + e[0], e[1] - e[0]], 1)], 3)
    for f in frames:
        np.testing.assert_allclose(f @ f.T, np.diag([1.0, 1.0, 0.0, 0.0]), atol=1e-12)
    assert flows.export.grand_tour(np.stack([np.stack([e[0], e[1]], 1), np.stack([e[2], e[3]], 1)]), 1).shape == (2, 4, 2)


@pytest.mark.parametrize(
    "planes, frames_per_segment, match",
    [
        ([np.eye(3)[:, :2]], 2, "planes"),
        ([np.eye(3)[:, :2], np.eye(4)[:, :2]], 2, "planes\\[1\\]"),
        ([np.eye(3)[:, :2], np.ones((3, 2))], 2, "linearly independent"),
        ([np.eye(3)[:, :2], np.ones((3, 3))], 2, "planes\\[1\\]"),
        ([np.eye(3)[:, :2], np.full((3, 2), np.nan)], 2, "finite"),
        ([np.eye(3)[:, :2], np.eye(3)[:, 1:]], 0, "frames_per_segment"),
    ],
)
def test_bad_input(planes, frames_per_segment, match):
    with pytest.raises(ValueError, match=match):
        flows.export.grand_tour(planes, frames_per_segment)
