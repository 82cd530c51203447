"""Metrics of the four papers, in numpy/scipy, vectorised over sparse label matrices.

- ranking: P@k, R@k, nDCG@k, PSP@k, PSnDCG@k (pyxclib conventions), inverse propensities;
- sets: precision, recall, F1 and coverage (mean Jaccard) averaged over items;
- soft: DiVa's soft precision/recall/F1 from label embeddings (Eq. 7-8);
- curves: AUC-ROC and AUC-PR (micro, macro), annotation and retrieval MAP;
- imbalance: IRLbl, MeanIR, count-score correlation;
- report: everything at once from label strings, and Markdown tables.
"""

from .curves import annotation_map, auc_pr, auc_roc, average_precision_columns, retrieval_map, roc_auc_columns
from .imbalance import count_score_correlation, imbalance_ratios, label_counts, mean_ir
from .ranking import (
    hits,
    inverse_propensity,
    ndcg_at_k,
    precision_at_k,
    psndcg_at_k,
    psp_at_k,
    recall_at_k,
    top_k_indices,
)
from .report import evaluate_labels, format_table, ranked_matrix
from .sets import coverage, set_scores
from .soft import soft_scores

__all__ = [
    "annotation_map", "auc_pr", "auc_roc", "average_precision_columns", "count_score_correlation",
    "coverage", "evaluate_labels", "format_table", "hits", "imbalance_ratios", "inverse_propensity",
    "label_counts", "mean_ir", "ndcg_at_k", "precision_at_k", "psndcg_at_k", "psp_at_k",
    "ranked_matrix", "recall_at_k", "retrieval_map", "roc_auc_columns", "set_scores", "soft_scores",
    "top_k_indices",
]
