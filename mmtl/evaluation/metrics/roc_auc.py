"""ROC curves and the area under them: binary, or one-vs-rest for each of many classes."""

from typing import List, Optional, Union

import numpy as np
from mmengine.logging import MMLogger

from mmtl.registry import METRICS

from .score_metric import ScoreMetric, class_names_from_meta


def one_vs_rest_roc(
    name: str, is_positive: np.ndarray, scores: np.ndarray, digits: int = 4
) -> dict:
    """The ROC curve and AUC of one class against all others.

    Args:
        name (str): The class name, reported as ``class``.
        is_positive (np.ndarray): ``N`` booleans, True for samples of the class.
        scores (np.ndarray): ``N`` scores of the class (higher = more likely).
        digits (int): Decimals kept for the curve points. Defaults to 4.

    Returns:
        dict: ``class``, ``fpr`` and ``tpr`` (lists, from (0, 0) to (1, 1)) and ``auc`` (float), or
        an empty curve and ``auc=None`` when the class has no positive or no negative
        sample (the ROC is undefined then).
    """
    if is_positive.all() or not is_positive.any():
        return {'class': name, 'fpr': [], 'tpr': [], 'auc': None}
    from sklearn.metrics import roc_auc_score, roc_curve  # imported when a metric runs

    fpr, tpr, _ = roc_curve(is_positive, scores)
    return {
        'class': name,
        'fpr': np.round(fpr, digits).tolist(),
        'tpr': np.round(tpr, digits).tolist(),
        'auc': float(roc_auc_score(is_positive, scores)),
    }


@METRICS.register_module()
class ROCAUC(ScoreMetric):
    """ROC curves and AUC from the softmax scores (scikit-learn's ``roc_curve``).

    With two classes there is one curve, for the positive class ``pos_label`` against the
    other. With more, each class gets a one-vs-rest curve and ``auc`` is their unweighted
    mean (macro). AUC is a fraction (0.5 is chance).

    Reported (with the default prefix ``roc``):

    - ``auc``: the binary AUC, or the macro one-vs-rest AUC (over classes where it is
      defined, i.e. that have test images and are not the only class present);
    - ``auc_classwise`` and ``classes`` (more than two classes): one AUC per class, None
      where undefined;
    - ``pos_class`` (two classes): the name of the positive class;
    - ``curves`` (when ``curves=True``): a list of ``{'class', 'fpr', 'tpr', 'auc'}``.

    Args:
        pos_label (int | str): The positive class of a binary task, by index or name.
            Defaults to 1 (the second class in sorted order).
        curves (bool): Whether to report the curve points. Defaults to True.
        digits (int): Decimals kept for the curve points. Defaults to 4.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for gathering results across ranks.
        prefix (str, optional): Metric name prefix. Defaults to ``'roc'``.
    """

    default_prefix: Optional[str] = 'roc'

    def __init__(
        self,
        pos_label: Union[int, str] = 1,
        curves: bool = True,
        digits: int = 4,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.pos_label = pos_label
        self.curves = curves
        self.digits = digits

    def compute_metrics(self, results: List[dict]) -> dict:
        """Compute the curves and areas.

        Args:
            results (list[dict]): Scores and labels of all test samples.

        Returns:
            dict: The values listed in the class docstring.
        """
        scores, labels = self.stack(results)
        num_classes = scores.shape[1]
        names = class_names_from_meta(self.dataset_meta, num_classes)
        binary = num_classes == 2
        indices = [self.class_index(self.pos_label, num_classes)] if binary else range(num_classes)
        curves = [
            one_vs_rest_roc(names[i], labels == i, scores[:, i], self.digits) for i in indices
        ]
        aucs = [curve['auc'] for curve in curves]
        defined = [auc for auc in aucs if auc is not None]
        if binary:
            metrics = {'auc': aucs[0], 'pos_class': curves[0]['class']}
        else:
            metrics = {
                'auc': float(np.mean(defined)) if defined else None,
                'auc_classwise': aucs,
                'classes': names,
            }
        undefined = [curve['class'] for curve in curves if curve['auc'] is None]
        if undefined:
            MMLogger.get_current_instance().warning(
                f'ROCAUC: no ROC curve for {undefined}: the test data has no image of the '
                f'class, or only images of it'
            )
        if self.curves:
            metrics['curves'] = curves
        return metrics
