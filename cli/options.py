"""Options shared by several commands, and building options from a table.

Every choice and default comes from a library constant, so `--help` says what
the library does.
"""

import typing

import click

from udd_keras.choices import DEFAULT_WORKER_TIMEOUT, MIN_WORKER_TIMEOUT, STRATEGIES
from udd_keras.training.recipe import DEFAULTS as RECIPE_DEFAULTS

# `recipe_option`'s default: the field's default in `TrainingRecipe`.
_RECIPE_DEFAULT = object()


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


def choice_option(flag, choices, default, help=None):
    """A click option choosing among `choices`, with `default` shown in `--help`."""
    return click.option(
        flag,
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help=help,
    )


def output_options(json_help, png_help, png_folder=False):
    """`--json FILE`, received as `json_path`, and `--png`: a file received as
    `png_path`, or with `png_folder` a folder received as `png_dir` (each None
    when not given)."""
    json_option = click.option(
        "--json", "json_path", type=click.Path(dir_okay=False), help=json_help
    )
    png_option = click.option(
        "--png",
        "png_dir" if png_folder else "png_path",
        type=click.Path(file_okay=not png_folder, dir_okay=png_folder),
        help=png_help,
    )
    return lambda command: json_option(png_option(command))


def data_dir_option():
    """`--data-dir FOLDER` (None when not given: the datasets' default place)."""
    return click.option("--data-dir", type=click.Path(file_okay=False), default=None)


def _value_type(field):
    """The type of a dataclass field's values: `int | None` gives int."""
    types = [t for t in typing.get_args(field.type) if t is not type(None)]
    return types[0] if types else field.type


def _setting_type(field):
    """The click type of a setting: its choices, else its value type, with
    the range of its `minimum` or `above` metadata."""
    meta = field.metadata
    if meta["choices"] is not None:
        if all(isinstance(choice, int) for choice in meta["choices"]):
            return IntChoice(meta["choices"])
        return click.Choice(meta["choices"])
    value_type = _value_type(field)
    range_type = click.IntRange if value_type is int else click.FloatRange
    if meta["above"] is not None:
        return range_type(min=meta["above"], min_open=True)
    if meta["minimum"] is not None:
        return range_type(min=meta["minimum"])
    return value_type


def setting_options(fields):
    """A decorator adding one click option per setting (a dataclass field
    made by `udd_keras.distillation.config.setting`), in the given order.

    The option is the field's `flag`, the command receives the field's name;
    options default to None (the library's default applies), and the help
    ends with the setting's default, `[default: ...]`.
    """
    from udd_keras.distillation.config import default_text

    def decorate(command):
        for field in reversed(fields):
            meta = field.metadata
            command = click.option(
                meta["flag"],
                field.name,
                type=_setting_type(field),
                metavar=meta["metavar"],
                help=f"{meta['help']} [default: {default_text(field)}]",
            )(command)
        return command

    return decorate


def recipe_option(field, flag=None, help=None, default=_RECIPE_DEFAULT):
    """A click option setting the `TrainingRecipe` field `field`.

    The command receives the value under the field's name (gather the recipe
    options with `**recipe_settings` and build `TrainingRecipe(**recipe_settings)`).
    Type and default are the field's (`udd_keras.training.recipe.DEFAULTS`,
    shown in `--help`); a bool field is an on/off pair (`--augment/--no-augment`).

    Args:
        field: str, a `TrainingRecipe` field, e.g. `"batch_size"`.
        flag: str, the option's flag; default `--` and the field with dashes.
        help: str or None, the help text.
        default: the command's own default where it differs from the recipe's;
            None leaves it to the command (say what applies in `help`).

    Example:
    >>> @click.command()
    ... @recipe_option("epochs")
    ... def train(**recipe_settings): ...
    """
    flag = flag or "--" + field.replace("_", "-")
    recipe_default = RECIPE_DEFAULTS[field]
    default = recipe_default if default is _RECIPE_DEFAULT else default
    if isinstance(recipe_default, bool):
        flag, option_type = f"{flag}/--no-{flag[2:]}", None
    else:
        option_type = type(recipe_default)
    return click.option(
        flag,
        field,
        type=option_type,
        default=default,
        show_default=default is not None,
        help=help,
    )


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


# `ctx.meta` key: the command's set argument takes a dataset name this time.
_SOURCE_IS_DATASET = "udd_keras.source_is_dataset"


class SetSource(click.ParamType):
    """A synthetic-set file or a shipped set's name, as the file's path.

    `udd_keras.sets.resolve` does the work: an existing file wins, then a
    shipped set's name; anything else is one line listing the shipped names.
    """

    name = "set"

    def convert(self, value, param, ctx):
        if ctx is not None and ctx.meta.get(_SOURCE_IS_DATASET):
            return value
        from udd_keras.sets import resolve

        return str(resolve(value))


class SetArgument(click.Argument):
    """A set argument (`SetSource`) that a flag can turn into a dataset name.

    `@click.argument("source", cls=SetArgument, dataset_flag="full")`: with
    `--full` given (before or after the argument), SOURCE is passed through
    unresolved, as the dataset name it then is.
    """

    def __init__(self, param_decls, dataset_flag=None, **attrs):
        attrs.setdefault("type", SetSource())
        super().__init__(param_decls, **attrs)
        self.dataset_flag = dataset_flag

    def handle_parse_result(self, ctx, opts, args):
        # `opts` holds every parsed flag, whatever the order they came in.
        if self.dataset_flag is not None and opts.get(self.dataset_flag):
            ctx.meta[_SOURCE_IS_DATASET] = True
        return super().handle_parse_result(ctx, opts, args)
