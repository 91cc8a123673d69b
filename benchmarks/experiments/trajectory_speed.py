"""How fast is the inner step with the real-data trajectory replayed?

python -m benchmarks run trajectory-speed
python -m benchmarks run reference-pytorch   # the reference, back to back
"""

from benchmarks.spec import Experiment, Variant

EXPERIMENT = Experiment(
    name="trajectory-speed",
    question="How fast is the inner step inline, recording and replaying the "
    "real-data trajectory, against its floor?",
    kind="timing",
    command="python -m benchmarks run trajectory-speed",
    measure="benchmarks.timing:trajectory_speed",
    shared={"steps": 6, "warmup": 2},
    variants=(Variant("udd", {"method": "udd"}), Variant("idc", {"method": "idc"})),
    results={"udd-idc": "old trajectory_speed.py --steps 6 (with the reference)"},
)
