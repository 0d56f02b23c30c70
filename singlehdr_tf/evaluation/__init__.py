"""Evaluation: HDR-SYNTH test sets (:mod:`.synth`), the methods to compare (:mod:`.methods`),
scoring reports (:mod:`.report`) and contact sheets (:mod:`.contact_sheet`).

Typical use::

    python -m singlehdr_tf.evaluation.synth HDR_DIR SET_DIR
    python -m singlehdr_tf.evaluation.report --data SET_DIR --baselines all --model lite --out REPORT_DIR
"""
