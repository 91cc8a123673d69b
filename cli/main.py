"""Entry point of the `udd-keras` command: the click group and error handling."""

import importlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import click  # noqa: E402

from udd_keras import __version__  # noqa: E402
from udd_keras.errors import UddError  # noqa: E402

# Sub-command name -> "module:attribute", imported only when the command runs so
# that `udd-keras --help` does not pay for importing TensorFlow.
COMMANDS = {
    "datasets": "udd_keras.cli.datasets:datasets",
    "distill": "udd_keras.cli.distill:distill",
    "evaluate": "udd_keras.cli.evaluate:evaluate",
    "coreset": "udd_keras.cli.coreset:coreset",
    "mue": "udd_keras.cli.mue:mue",
    "import": "udd_keras.cli.import_set:import_set",
    "compare": "udd_keras.cli.compare:compare",
    "sets": "udd_keras.cli.sets:sets",
    "export-tfds": "udd_keras.cli.export_tfds:export_tfds",
}

HELP_OPTIONS = ["-h", "--help"]

COMMAND_HELP = {
    "datasets": "List the data sources and whether each is available offline.",
    "distill": "Distil a dataset into a few synthetic images per class.",
    "evaluate": "Train fresh networks on a synthetic set and report test accuracy.",
    "coreset": "Select real images per class (random, herding, forgetting).",
    "mue": "Report the utilization (mUE) of synthetic or coreset images.",
    "import": "Import a set distilled elsewhere (DC/DSA/DM, IDC, MTT, .npz, images).",
    "compare": "Compare two evaluation results; a verdict only under one protocol.",
    "sets": "List the sets shipped with udd-keras, their accuracy and recipe.",
    "export-tfds": "Write a set as a TensorFlow Datasets dataset (tfds.load reads it).",
}


def quiet_tensorflow_import():
    """Imports TensorFlow with its C++ start-up chatter sent to /dev/null.

    TensorFlow prints several lines (CUDA probing, oneDNN notes) on stderr when it
    starts, before any Python logging can be configured. `udd-keras --verbose`
    (or `UDD_KERAS_VERBOSE=1`) shows them.
    """
    if os.environ.get("UDD_KERAS_VERBOSE") or "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import absl.logging
            import tensorflow

            absl.logging.set_verbosity(absl.logging.ERROR)
            # Probing for GPUs logs a C++ error line (e.g. `failed call to
            # cuInit`) on machines without a driver; probe now, silently. This
            # lists physical devices only, so TensorFlow's runtime is not yet
            # initialised (`split_cpu` and multi-worker strategies still work).
            tensorflow.config.list_physical_devices("GPU")
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _show_tensorflow_logs(ctx, param, verbose):
    """`--verbose`: TensorFlow imports unsilenced, logging at its own level."""
    if verbose:
        os.environ["UDD_KERAS_VERBOSE"] = "1"
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[name].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                return None
            raise
        return getattr(module, attribute)

    def resolve_command(self, ctx, args):
        # A command that runs imports TensorFlow now, with its start-up lines
        # silenced; its help needs no TensorFlow at all.
        if not any(arg in HELP_OPTIONS for arg in args[1:]):
            quiet_tensorflow_import()
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMAND_HELP[name]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": HELP_OPTIONS})
@click.version_option(__version__, prog_name="udd-keras")
@click.option(
    "--verbose",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_show_tensorflow_logs,
    help="Show TensorFlow's start-up and C++ log lines (hidden by default).",
)
def cli():
    """udd-keras: dataset distillation by mining underutilized regions (UDD).

    Distil a dataset into 1, 10 or 50 images per class, evaluate the result,
    and inspect how well each image is used.
    """


def _one_line(text):
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def _os_error_line(error):
    """`Error: <reason>: <file>` for an `OSError`, without a traceback."""
    reason = error.strerror or str(error) or type(error).__name__
    where = f": {error.filename}" if error.filename else ""
    return f"Error: {_one_line(reason)}{where}"


def main(argv=None):
    """Runs the CLI; every user mistake is one line on stderr, never a traceback.

    Exit status:
        0: success.
        2: a user mistake or a fixable environment problem (`UddError`, a bad
            option caught by click, an unreadable or unwritable file).
        130: stopped by SIGINT (Ctrl-C); 143: stopped by SIGTERM (128 + the
            signal number). An interrupted `distill` saves a checkpoint first
            and its message says how to resume.

    Anything else is a bug and keeps its traceback.
    """
    try:
        cli.main(args=argv, prog_name="udd-keras", standalone_mode=False)
    except click.exceptions.Abort:
        # Click turns Ctrl-C inside a command into Abort (after a newline).
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except click.UsageError as error:
        hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
        click.echo(f"Error: {_one_line(error.format_message())}{hint}", err=True)
        sys.exit(error.exit_code)
    except click.ClickException as error:
        click.echo(f"Error: {_one_line(error.format_message())}", err=True)
        sys.exit(error.exit_code)
    except UddError as error:
        click.echo(f"Error: {_one_line(error)}", err=True)
        sys.exit(getattr(error, "exit_code", 2))
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except OSError as error:
        click.echo(_os_error_line(error), err=True)
        sys.exit(2)
    sys.exit(0)


if __name__ == "__main__":
    main()
