"""The HDR-SYNTH data pipeline: training pairs ``(L, F(C(H)), C(H), F^-1, H)`` from HDR images.

Example:
    >>> from singlehdr_tf.data import DataConfig, make_dataset
    >>> dataset = make_dataset("hdr/train", DataConfig(crop_size=128), batch_size=8, seed=0)  # doctest: +SKIP
    >>> batch = next(iter(dataset))  # doctest: +SKIP
    >>> batch["ldr"].shape  # doctest: +SKIP
    TensorShape([8, 128, 128, 3])
"""

from singlehdr_tf.data.config import DataConfig
from singlehdr_tf.data.loading import list_hdr_files, load_hdr_images
from singlehdr_tf.data.pipeline import make_dataset

__all__ = ["DataConfig", "list_hdr_files", "load_hdr_images", "make_dataset"]
