"""udd's default trains what idc trains; its options are what set it apart."""

import numpy as np

from udd_keras.distillation import distill

TINY = dict(width=8, iterations=1, inner_steps=2, net_images=20, real_batch=8)


def test_udd_default_makes_idc_images():
    udd = distill("digits", ipc=1, method="udd", seed=3, **TINY)
    idc = distill("digits", ipc=1, method="idc", seed=3, **TINY)
    assert udd.config.cfc_weight == 0.0 and udd.config.formation == "tiles"
    np.testing.assert_array_equal(udd.images, idc.images)
    np.testing.assert_array_equal(udd.labels, idc.labels)


def test_udd_with_cfc_trains_other_images():
    plain = distill("digits", ipc=1, method="udd", seed=3, **TINY)
    cfc = distill("digits", ipc=1, method="udd", seed=3, cfc_weight=0.1, **TINY)
    assert np.abs(plain.images - cfc.images).max() > 0.0
