"""Stage-wise and joint training of SingleHDR on tf.distribute, with exact resume.

Train with ``train("configs/lite.yaml", "hdr/train", "runs/lite")`` or
``python -m singlehdr_tf.training configs/lite.yaml --data hdr/train --out runs/lite``; run the
same command again to resume. The config format is described in
:mod:`singlehdr_tf.training.config`, what each stage trains in :mod:`singlehdr_tf.training.stages`.

Layout of a run directory::

    run_dir/
      config.yaml                     the config, model and data sections resolved to every argument
      model_config.json               model.get_config(): SingleHDR(**json.load(...)) rebuilds the model
      model.weights.h5                the latest weights (written when the run completes or stops),
                                      model.load_weights(...) on the rebuilt model
      best_linearization.weights.h5   Linearization-Net weights of the best validation curve error
                                      (model.linearization.load_weights(...))
      checkpoints/                    tf.train.CheckpointManager (ckpt-<step>, last keep_checkpoints):
                                      weights (run_dir.named_weights), step, best_curve_l2,
                                      <stage>_optimizer for each stage
      metrics.jsonl                   one line per log interval: step, stage, loss, terms, grad_norm,
                                      learning_rate, steps_per_second, images_per_second, time
      validation.jsonl                one line per validation: curve_l2 (and _g0, _gamma22), PSNRs,
                                      best_curve_l2 (see training.validation.Validator)
      tensorboard/                    TensorBoard scalars and validation sample images

Example::

    from singlehdr_tf.training import train
    result = train("configs/tiny.yaml", "hdr/train", "runs/tiny", max_steps=10)
"""

from singlehdr_tf.training.config import STAGES, TrainConfig, load_config
from singlehdr_tf.training.loop import TrainResult, make_strategy, train

__all__ = ["STAGES", "TrainConfig", "TrainResult", "load_config", "make_strategy", "train"]
