"""Experiment 4 (noise injection, Arbel et al. 2019) in its quick setting: its claim and its files."""

import imageio.v2 as imageio


def test_noise_injection_escapes_where_the_plain_flow_stalls(tmp_path, load_experiment):
    results = load_experiment("noise_injection").main(quick=True, root=tmp_path)

    gaussian = results["gaussian"]["runs"]
    plain, noisy = gaussian["MMD flow"], gaussian["noise injection"]
    # the plain flow stalls: its particles stay far from the target at 0 (measured mean 6.9, MMD² 0.137)
    assert plain["mean_final"] > 5.0
    assert plain["mmd2_final"] > 0.05
    # noise injection ends well below it (measured 0.070, ratio 1.95; seeds 10-12 gave 0.058-0.068)
    assert noisy["mmd2_final"] < 0.75 * plain["mmd2_final"]
    assert set(gaussian) == {"MMD flow", "noise injection", "Sobolev"}  # the quick setting skips the diffusion
    assert all(run["mmd2_final"] < results["gaussian"]["mmd2_start"] for run in gaussian.values())
    assert "student_teacher" not in results

    media = tmp_path / "media"
    assert (media / "noise_injection_gaussian.png").stat().st_size > 10_000
    reader = imageio.get_reader(media / "noise_injection.gif")
    frames = [frame for frame in reader]
    reader.close()
    assert len(frames) == results["animation_frames"] == 8
    assert abs(frames[0].astype(int) - frames[-1].astype(int)).sum() > 0  # the particles move
    assert (tmp_path / "experiments" / "results" / "noise_injection.json").exists()
    page = (tmp_path / "EXPERIMENTS.md").read_text()
    assert "## 4. Noise injection" in page
    assert "media/noise_injection_gaussian.png" in page and "media/noise_injection.gif" in page
