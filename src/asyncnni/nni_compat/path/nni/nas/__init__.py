"""NNI 1.x's NAS API (``nni.nas.pytorch``), mapped onto :mod:`asyncnni.nas`."""
