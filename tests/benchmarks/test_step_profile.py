"""benchmarks/step_profile.py: op times read back from the TF profiler."""

import pytest


@pytest.fixture(scope="module")
def step_profile(load_benchmark):
    return load_benchmark("step_profile")


@pytest.mark.parametrize(
    "op_type, expected",
    [
        ("_MklNativeConv2DBackpropFilterWithBias", "convolution"),
        ("Conv2D", "convolution"),
        ("_MklBatchMatMulV2", "matmul"),
        ("MatMul", "matmul"),
        ("Mean", "other"),
        ("_MklNativeAvgPoolGrad", "other"),
    ],
)
def test_op_class(step_profile, op_type, expected):
    assert step_profile.op_class(op_type) == expected


def test_profile_times_the_ops_of_a_function(step_profile, tmp_path):
    import tensorflow as tf

    images = tf.random.stateless_normal([4, 16, 16, 8], [0, 1])
    kernel = tf.random.stateless_normal([3, 3, 8, 8], [0, 2])
    weights = tf.random.stateless_normal([8, 8], [0, 3])

    @tf.function
    def step():
        features = tf.nn.relu(tf.nn.conv2d(images, kernel, 1, "SAME"))
        return tf.matmul(tf.reduce_mean(features, axis=[1, 2]), weights)

    step()
    wall, ops = step_profile.profile(step, 2, tmp_path)
    assert wall > 0
    classes = step_profile.summarize(ops)
    assert set(classes) == {"convolution", "matmul", "other"}
    assert classes["convolution"] > 0 and classes["matmul"] > 0
    assert any("Conv2D" in op for op in ops)
    assert all(row["count"] > 0 for row in ops.values())
