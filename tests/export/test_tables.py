"""Diagnostics tables round-trip through CSV and JSON."""

import csv

import numpy as np

import flows
from flows.export.tables import write_csv, write_json


def test_tables_round_trip_through_csv_and_json(tmp_path):
    traj = flows.Trajectory(
        ts=np.array([0.0, 0.5]), ys=np.zeros((2, 3, 2)),
        diagnostics={"mmd2": np.array([0.25, 0.125]), "mass": np.array([[0.5, 0.5], [1.0, 0.0]])},
    )
    write_csv({"a": traj, "b": traj}, tmp_path / "m.csv")
    rows = list(csv.DictReader(open(tmp_path / "m.csv")))
    assert [r["run"] for r in rows] == ["a", "a", "b", "b"]
    assert [float(r["mmd2"]) for r in rows[:2]] == [0.25, 0.125]
    assert [float(r["mass[1]"]) for r in rows[:2]] == [0.5, 0.0]
    import json

    document = json.load(open(write_json(traj, tmp_path / "m.json")))
    assert document["run"]["mass[0]"] == [0.5, 1.0] and document["run"]["t"] == [0.0, 0.5]
