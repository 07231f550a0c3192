"""A user's own Keras 2 layer, as a model's training code defines it: tests/test_keras2.py saves
a tf_keras model that uses it and loads that file with `--custom-objects tests/keras2_layers.py`.
(Not a test module: pytest does not collect it.)"""
import tf_keras


@tf_keras.utils.register_keras_serializable(package="mcuq_test")
class ChannelScale(tf_keras.layers.Layer):
    """Multiplies each channel by a trained factor (a per-channel gain, as in some KWS models)."""

    def __init__(self, init=0.5, **kwargs):
        super().__init__(**kwargs)
        self.init = init

    def build(self, input_shape):
        self.gain = self.add_weight(name="gain", shape=(input_shape[-1],),
                                    initializer=tf_keras.initializers.Constant(self.init))
        super().build(input_shape)

    def call(self, x):
        return x * self.gain

    def get_config(self):
        return {**super().get_config(), "init": self.init}
