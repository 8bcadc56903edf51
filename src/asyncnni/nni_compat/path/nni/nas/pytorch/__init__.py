"""``nni.nas.pytorch``: mutables, mutators and fixed architectures of NNI 1.x, from asyncnni.nas.

Importing any of these modules imports torch.
"""
