"""The trajectory cache: replayed runs end with the images of inline runs;
`network_pool` runs replay their pool.

"The images of inline runs" means bit for bit, and relies on one condition:
the runs compared share TensorFlow's thread settings and op determinism, as
runs in one process (these tests) do. Replaying computes nothing differently
from an inline run, so under shared settings the images are equal at every
width, float32 ConvNet-3 width 128 included. A trajectory recorded under other
settings (another intra-op thread count, `enable_op_determinism`) replays that
process's rounding: FashionMNIST IPC 1, width 128, 3 inner steps, two inline
runs of the same seed differ by 4e-4 (op determinism on / off) and 1.7e-3 (1 /
2 intra-op threads) max abs pixel, cache or not.
"""

import dataclasses
import json

import numpy as np
import pytest

from udd_keras.data import load_dataset
from udd_keras.distillation import DistillationInterrupted, DistillConfig, Distiller
from udd_keras.distillation.trajectory import (
    TRAJECTORY_FIELDS,
    RealStep,
    TrajectoryCache,
    trajectory_manifest,
)
from udd_keras.errors import UddError

# udd with mined regions and CFC: every part of the image step replayed.
MINED = dict(method="udd", formation="tiles+regions")
TINY = dict(width=8, net_images=20, real_batch=16, precision="float32", log_every=1)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _run(digits, cache=None, out_dir=None, callbacks=(), resume=False, **settings):
    settings = {"iterations": 2, "inner_steps": 2, "ipc": 1, **TINY, **settings}
    config = DistillConfig("digits", **settings)
    distiller = Distiller(
        config,
        dataset=digits,
        out_dir=out_dir,
        trajectory_dir=cache,
        callbacks=callbacks,
        resume=resume,
    )
    return distiller, distiller.run()


def _assert_same_run(a, b):
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    for name in ("matching_loss", "cfc_loss", "network_loss"):
        assert [m[name] for m in a.metrics] == [m[name] for m in b.metrics], name


@pytest.fixture(scope="module")
def inline_udd(digits):
    return _run(digits, **MINED)[1]


def test_recorded_and_replayed_runs_equal_the_inline_run(digits, tmp_path, inline_udd):
    recorder, recorded = _run(digits, cache=tmp_path, **MINED)
    replayer, replayed = _run(digits, cache=tmp_path, **MINED)

    assert (recorder.trajectory.misses, recorder.trajectory.hits) == (4, 0)
    assert replayer.trajectory.misses == 0
    _assert_same_run(inline_udd, recorded)
    _assert_same_run(inline_udd, replayed)
    steps = sorted(p.name for p in recorder.trajectory.path.glob("step-*.npz"))
    assert steps == [
        "step-00000-0000.npz",
        "step-00000-0001.npz",
        "step-00001-0000.npz",
        "step-00001-0001.npz",
    ]


@pytest.mark.slow
def test_replay_is_bit_exact_at_the_real_network_width(digits, tmp_path):
    # Width 128 runs the convolution kernels' multi-threaded paths that width 8
    # does not; the tolerance a replayed run is allowed is still 0.
    wide = dict(TINY, width=128)
    settings = dict(method="idc", iterations=1, inner_steps=2, **wide)
    inline = _run(digits, **settings)[1]
    recorded = _run(digits, cache=tmp_path, **settings)[1]
    replayer, replayed = _run(digits, cache=tmp_path, **settings)
    assert replayer.trajectory.misses == 0
    _assert_same_run(inline, recorded)
    _assert_same_run(inline, replayed)


def test_a_replayed_run_does_not_compute_the_real_side(digits, tmp_path, inline_udd):
    _run(digits, cache=tmp_path, method="idc")
    config = DistillConfig(
        "digits", ipc=1, iterations=2, inner_steps=2, **MINED, **TINY
    )
    distiller = Distiller(config, dataset=digits, trajectory_dir=tmp_path)

    def refuse(*args):
        raise AssertionError("the real side was computed")

    distiller.engine.update_network = refuse
    distiller.engine.compute_real_gradients = refuse
    _assert_same_run(inline_udd, distiller.run())


def test_one_trajectory_serves_other_methods_and_ipcs(digits, tmp_path):
    _run(digits, cache=tmp_path, method="idc", ipc=1)
    inline = _run(digits, ipc=2, **MINED)[1]
    replayer, replayed = _run(digits, cache=tmp_path, ipc=2, **MINED)
    assert replayer.trajectory.misses == 0
    _assert_same_run(inline, replayed)


def test_steps_beyond_the_recorded_ones_continue_from_the_right_network(
    digits, tmp_path
):
    _run(digits, cache=tmp_path, method="idc", iterations=1, inner_steps=2)
    inline = _run(digits, method="idc", iterations=1, inner_steps=4)[1]
    distiller, longer = _run(
        digits, cache=tmp_path, method="idc", iterations=1, inner_steps=4
    )
    # Steps 0-1 replayed (step 1 trains the network for step 2), 2-3 recorded.
    assert distiller.trajectory.misses == 2
    _assert_same_run(inline, longer)
    assert len(list(distiller.trajectory.path.glob("step-*.npz"))) == 4


def test_a_replayed_run_resumes_exactly(digits, tmp_path, inline_udd, interrupt_at):
    cache = tmp_path / "cache"
    _run(digits, cache=cache, **MINED)
    out = tmp_path / "run"
    with pytest.raises(DistillationInterrupted):
        _run(
            digits,
            cache=cache,
            out_dir=out,
            callbacks=[interrupt_at(1)],
            **MINED,
            checkpoint_every=1,
        )
    resumed = _run(digits, cache=cache, out_dir=out, resume=True, **MINED)[1]
    np.testing.assert_array_equal(inline_udd.images, resumed.images)
    np.testing.assert_array_equal(inline_udd.boxes, resumed.boxes)


def test_a_damaged_entry_is_computed_again(digits, tmp_path, inline_udd):
    recorder, _ = _run(digits, cache=tmp_path, **MINED)
    entry = recorder.trajectory.step_path(1, 0)
    entry.write_bytes(b"not an npz")
    distiller, result = _run(digits, cache=tmp_path, **MINED)
    assert distiller.trajectory.misses == 1
    _assert_same_run(inline_udd, result)
    assert RealStep.load(entry).network_loss == pytest.approx(
        inline_udd.metrics[2]["network_loss"]
    )


def test_the_directory_depends_on_seed_settings_and_data(digits, tmp_path):
    def cache_path(data=digits, **settings):
        config = DistillConfig("digits", **{"ipc": 1, **TINY, **settings}).resolve()
        manifest = trajectory_manifest(config, data.x_train, data.y_train)
        return TrajectoryCache(tmp_path, manifest).path

    base = cache_path()
    assert cache_path(method="idc", ipc=3, cfc_weight=0.5, lr_img=0.1) == base
    assert cache_path(seed=1) != base
    assert cache_path(net_lr=0.02) != base
    assert cache_path(width=16) != base
    shifted = dataclasses.replace(digits, x_train=digits.x_train + 1e-3)
    assert cache_path(data=shifted) != base
    manifest = json.loads((base / "manifest.json").read_text())
    assert set(manifest["settings"]) == set(TRAJECTORY_FIELDS)
    assert base.name.startswith("digits-seed0-")


def test_a_manifest_of_other_settings_is_refused(digits, tmp_path):
    config = DistillConfig("digits", ipc=1, **TINY).resolve()
    manifest = trajectory_manifest(config, digits.x_train, digits.y_train)
    path = TrajectoryCache(tmp_path, manifest).path
    stored = json.loads((path / "manifest.json").read_text())
    stored["settings"]["net_lr"] = 0.5
    (path / "manifest.json").write_text(json.dumps(stored))
    with pytest.raises(UddError, match="recorded with other settings"):
        TrajectoryCache(tmp_path, manifest)


def test_dc_has_no_real_trajectory(digits, tmp_path):
    config = DistillConfig("digits", ipc=1, method="dc", **TINY)
    with pytest.raises(UddError, match="method 'dc' trains it on 'synthetic'"):
        Distiller(config, dataset=digits, trajectory_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_image_updates_replay_and_keep_the_network_trajectory(
    digits, tmp_path, inline_udd
):
    inline = _run(digits, image_updates=2, **MINED)[1]
    recorded = _run(digits, cache=tmp_path, image_updates=2, **MINED)[1]
    # A trajectory recorded with one update per step replays for two.
    replayer, replayed = _run(digits, cache=tmp_path, image_updates=2, **MINED)
    assert replayer.trajectory.misses == 0
    _assert_same_run(inline, recorded)
    _assert_same_run(inline, replayed)
    # The network's side is that of one update per step; the images moved more.
    net_losses = [m["network_loss"] for m in inline.metrics]
    assert net_losses == [m["network_loss"] for m in inline_udd.metrics]
    assert not np.allclose(inline.images, inline_udd.images)


# ------------------------------------------------------------- network_pool
# Outer iterations cycle through a pool of networks, whose real side is
# recorded once (in the run's `trajectory/` folder) and replayed.


def _config(**settings):
    settings = {"iterations": 3, "inner_steps": 2, "ipc": 1, **TINY, **settings}
    return DistillConfig("digits", **settings)


def _per_iteration(result, name):
    iterations = sorted({m["iteration"] for m in result.metrics})
    return [
        [m[name] for m in result.metrics if m["iteration"] == i] for i in iterations
    ]


@pytest.fixture(scope="module")
def pooled(digits, tmp_path_factory):
    """A 3-iteration run on a pool of 2, kept in its run directory."""
    out = tmp_path_factory.mktemp("pooled") / "run"
    distiller, result = _run(digits, out_dir=out, iterations=3, network_pool=2, **MINED)
    return out, distiller, result


def test_iterations_beyond_the_pool_train_against_its_networks(digits, pooled):
    _, _, result = pooled
    losses = _per_iteration(result, "network_loss")
    assert losses[2] == losses[0]
    assert losses[1] != losses[0]
    unpooled = _per_iteration(_run(digits, iterations=3, **MINED)[1], "network_loss")
    assert unpooled[:2] == losses[:2]
    assert unpooled[2] != losses[2]


def test_only_the_pool_s_real_side_is_computed(pooled):
    out, distiller, _ = pooled
    assert distiller.trajectory.path.parent == out / "trajectory"
    # Iterations 0 and 1 record their 2 steps; iteration 2 reads iteration 0's
    # (its second step's entry was read with the first, to load the network).
    assert (distiller.trajectory.misses, distiller.trajectory.hits) == (4, 2)
    assert len(list(distiller.trajectory.path.glob("step-*.npz"))) == 4


def test_the_logs_say_which_steps_replayed_and_how_many_will_compute(pooled):
    _, distiller, result = pooled
    assert [m["replayed"] for m in result.metrics] == [0, 0, 0, 0, 1, 1]
    assert [m["steps_to_compute"] for m in result.metrics] == [3, 2, 1, 0, 0, 0]
    # Once the pool is stored, nothing is left to compute.
    assert distiller.steps_to_compute(0) == 0


def test_a_partly_cached_run_counts_the_steps_it_will_compute(digits, tmp_path):
    _run(digits, cache=tmp_path, method="idc")  # iterations 0 and 1 stored
    config = DistillConfig("digits", ipc=1, iterations=3, inner_steps=2, **TINY)
    distiller = Distiller(config, dataset=digits, trajectory_dir=tmp_path)
    assert [distiller.steps_to_compute(step) for step in (0, 3, 4, 5, 6)] == [
        2,
        2,
        2,
        1,
        0,
    ]
    assert Distiller(config, dataset=digits).steps_to_compute(1) == 5


def test_a_replayed_pool_ends_with_the_images_computed_inline(digits, pooled):
    inline = Distiller(_config(network_pool=2, **MINED), dataset=digits)
    inline.trajectory = None  # every step computed, the real side included
    _assert_same_run(inline.run(), pooled[2])


def test_a_pool_as_large_as_the_run_changes_nothing(digits, inline_udd):
    pool = _run(digits, iterations=2, network_pool=2, **MINED)[1]
    _assert_same_run(inline_udd, pool)


def test_without_an_output_directory_the_pool_is_temporary(digits, pooled):
    distiller = Distiller(_config(network_pool=2, **MINED), dataset=digits)
    folder = distiller.trajectory.path.parent
    assert folder.exists()
    _assert_same_run(distiller.run(), pooled[2])
    assert not folder.exists()


def test_a_pooled_run_resumes_exactly(digits, tmp_path, pooled, interrupt_at):
    out = tmp_path / "run"
    with pytest.raises(DistillationInterrupted):
        _run(
            digits,
            out_dir=out,
            callbacks=[interrupt_at(5)],
            iterations=3,
            network_pool=2,
            checkpoint_every=1,
            **MINED,
        )
    resumed = _run(
        digits, out_dir=out, resume=True, iterations=3, network_pool=2, **MINED
    )[1]
    np.testing.assert_array_equal(pooled[2].images, resumed.images)
    np.testing.assert_array_equal(pooled[2].boxes, resumed.boxes)


@pytest.mark.parametrize("pool, used", [(3, [0, 1, 2, 0, 1]), (None, [0, 1, 2, 3, 4])])
def test_pooled_iteration_cycles(digits, tmp_path, pool, used):
    config = _config(iterations=5, network_pool=pool, method="idc")
    distiller = Distiller(config, dataset=digits, out_dir=tmp_path)
    try:
        assert [distiller.schedule.pooled_iteration(i) for i in range(5)] == used
    finally:
        distiller._release_run_dir()


@pytest.mark.parametrize("period, image_updates", [("iteration", 2), ("run", 1)])
def test_kept_regions_replay_as_computed_inline(
    digits, tmp_path, period, image_updates
):
    settings = dict(region_period=period, image_updates=image_updates, **MINED)
    inline = _run(digits, **settings)[1]
    # A trajectory recorded by a run that re-selects at every step serves it.
    _run(digits, cache=tmp_path, **MINED)
    replayer, replayed = _run(digits, cache=tmp_path, **settings)
    assert replayer.trajectory.misses == 0
    _assert_same_run(inline, replayed)
