"""efficientnn: the numpy reference package behind the course on making neural networks cheaper.

Modules, one per concept:

- :mod:`efficientnn.shapes`   output shapes (H x W x C) of every layer
- :mod:`efficientnn.layers`   the layers, fast and naive forwards, backward passes
- :mod:`efficientnn.models`   ``Sequential`` and the lesson's ``base_cnn`` and its variants
- :mod:`efficientnn.cost`     params, MACs, FLOPs and latency estimates
- :mod:`efficientnn.train`    loss, optimisers, training loop
- :mod:`efficientnn.data`     the digits (offline) and MNIST (download) data sets
- :mod:`efficientnn.pruning`  magnitude and structured pruning
- :mod:`efficientnn.quantization`  int8 scales and zero points, integer layers, int8 in OpenVINO
- :mod:`efficientnn.openvino_timing`  layerwise timing on this CPU with OpenVINO
- :mod:`efficientnn.quiz`     questions, answer parsing, checking and widgets
- :mod:`efficientnn.plots`    the course's figures
- :mod:`efficientnn.validation`  the argument checks every module shares
"""
__version__ = "0.1.0"
