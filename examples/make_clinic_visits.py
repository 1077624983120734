"""Writes examples/data/clinic_visits.csv: 800 made-up hospital stays (seeded, no real people).

It has what real tables have and the bundled scikit-learn tables lack: an id column
(``visit_id``, V-numbers), a date pair that must stay in order (``discharged`` never before
``admitted``), a lab value measured only for diabetic patients (``hba1c`` is null otherwise),
booleans, categories and a binary target (``readmitted``).

    python examples/make_clinic_visits.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(2026)
n = 800
# readmission first, then each feature shifted by it (as in a case-control study)
readmitted = rng.random(n) < 0.3
age = np.clip(rng.normal(56 + 16 * readmitted, 13), 18, 99).astype(int)
diabetic = rng.random(n) < 0.2 + 0.25 * readmitted
admitted = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 540, n), unit="D")
ward = rng.choice(["cardiology", "surgery", "internal", "geriatrics"], n, p=[0.25, 0.3, 0.3, 0.15])
stay = rng.poisson(2 + 2 * (ward == "surgery") + 3 * readmitted).astype(int)
hba1c = np.where(diabetic, rng.normal(6.9 + 0.9 * readmitted, 1.0, n).round(1), np.nan)
prior = rng.poisson(0.3 + 1.8 * readmitted, n)
frame = pd.DataFrame(
    {
        "visit_id": [f"V{i:06d}" for i in rng.permutation(n) + 104_000],
        "age": age,
        "ward": ward,
        "diabetic": diabetic,
        "hba1c": hba1c,
        "prior_visits": prior,
        "admitted": admitted.strftime("%Y-%m-%d"),
        "discharged": (admitted + pd.to_timedelta(stay, unit="D")).strftime("%Y-%m-%d"),
        "readmitted": readmitted,
    }
)
out = Path(__file__).parent / "data" / "clinic_visits.csv"
frame.to_csv(out, index=False)
print(f"wrote {out}: {frame.shape[0]} rows x {frame.shape[1]} columns")
