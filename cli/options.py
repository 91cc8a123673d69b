"""Options shared by several commands, and building options from a table.

Every choice and default comes from a library constant, so `--help` says what
the library does.
"""

import click

from udd_keras.choices import DEFAULT_WORKER_TIMEOUT, MIN_WORKER_TIMEOUT, STRATEGIES


class IntChoice(click.Choice):
    """A choice among integers: `--regions 8` gives the int 8."""

    name = "integer choice"

    def __init__(self, values):
        super().__init__([str(value) for value in values])

    def convert(self, value, param, ctx):
        return int(super().convert(str(value), param, ctx))


def add_options(specs):
    """A decorator adding one click option per `(flag, name, type, help)` row.

    `name` is the keyword the command receives; options default to None (the
    library's default applies), which the help says.
    """

    def decorate(command):
        for flag, name, option_type, help_text in reversed(specs):
            command = click.option(flag, name, type=option_type, help=help_text)(
                command
            )
        return command

    return decorate


def strategy_options(after_loss):
    """`--strategy` and `--worker-timeout`, as `strategy_name` and
    `worker_timeout`; `after_loss` ends the timeout's help (what happens to the
    work done when a worker is lost)."""
    strategy = click.option(
        "--strategy",
        "strategy_name",
        type=click.Choice(STRATEGIES),
        default="auto",
        show_default=True,
        help="tf.distribute strategy; auto: mirrored with several GPUs, else one "
        "device. multi-worker reads TF_CONFIG.",
    )
    worker_timeout = click.option(
        "--worker-timeout",
        type=click.FloatRange(min=MIN_WORKER_TIMEOUT),
        default=DEFAULT_WORKER_TIMEOUT,
        show_default=True,
        metavar="SECONDS",
        help="multi-worker: a worker silent this long is taken as lost and the "
        "others stop within about this time (exit status 69; SIGTERM to any "
        f"worker stops all: 75). {after_loss}",
    )
    return lambda command: strategy(worker_timeout(command))
