"""TFRecord format of synthetic sets (installed as `udd_keras.tfrecords`)."""
