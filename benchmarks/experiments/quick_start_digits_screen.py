"""Which settings should the quick preset use on `digits`? (validation split)

python -m benchmarks run quick-start-digits-screen
python -m benchmarks run quick-start-digits-screen --steps 10 --seeds 0 --tag s10
"""

from benchmarks.spec import RANDOM_CORESET, Budget, Experiment, Variant, variants

SGD = {"image_optimizer": "sgd", "init_selection": "random", "lr_img": None}
LITERAL = {"method": "udd", "formation": "original+regions"}

EXPERIMENT = Experiment(
    name="quick-start-digits-screen",
    question="Which method, formation, start and image lr suit 8 x 8 digits at 100 "
    "steps?",
    kind="accuracy",
    command="python -m benchmarks run quick-start-digits-screen",
    dataset="digits",
    seeds=(0, 1),
    shared={"image_optimizer": "adam", "lr_img": 0.01, "init_selection": "kmeans"},
    budget=Budget(steps=100, inner_steps=10),
    variants=(RANDOM_CORESET,)
    + variants(
        {
            "paper": {"method": "udd", **SGD},
            "udd": {"method": "udd"},
            "idc": {"method": "idc"},
            "udd-random": {"method": "udd", "init_selection": "random"},
            "dc": {"method": "dc"},
            "dc-sgd": {"method": "dc", **SGD},
            "dc-randominit": {"method": "dc", "init_selection": "random"},
            "literal": LITERAL,
            "literal-sgd": {**LITERAL, **SGD},
            "literal-lr0.001": {**LITERAL, "lr_img": 0.001},
            "literal-lr0.003": {**LITERAL, "lr_img": 0.003},
            "literal-randominit": {**LITERAL, "init_selection": "random"},
        }
    )
    + (Variant("kmeans-init", LITERAL, source="init"),),
    measures=("accuracy", "paired:random-coreset"),
    results={
        "validation-s10": "10 steps (5 per iteration), seed 0",
        "validation-s100": "100 steps: paper, udd, idc, udd-random",
        "validation-original": "dc and the literal original+regions",
        "validation-lr": "image lr and random start of the literal reading",
        "validation-init": "the k-means start after 1 step",
    },
)
