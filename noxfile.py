"""Developer tasks: `nox -s tests`, `exhaustive`, `lint` and `format`."""

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session):
    """Installs the package with its test tools and runs the test suite."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def exhaustive(session):
    """Runs the exhaustive tier: the scenarios the default run leaves out."""
    session.install("-e", ".[dev]")
    session.run("pytest", "-m", "exhaustive", *session.posargs)


@nox.session
def lint(session):
    """Checks lint and formatting with ruff."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(name="format")
def format_(session):
    """Formats the code base in place with ruff."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "--fix", ".")
    session.run("ruff", "format", ".")
