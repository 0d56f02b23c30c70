"""Evaluation: HDR-SYNTH test sets (:mod:`.synth`), the methods to compare (:mod:`.methods`),
scoring reports (:mod:`.report`) and contact sheets (:mod:`.contact_sheet`).

Typical use::

    singlehdr synth HDR_DIR SET_DIR
    singlehdr evaluate --data SET_DIR --baselines all --model lite --out REPORT_DIR
"""
