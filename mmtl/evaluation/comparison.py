"""Pair the predictions of two models on the same test images (``tools/compare.py``)."""

from typing import List, Sequence, Tuple

import numpy as np

from mmtl.utils.errors import BadDataError


def paired_correctness(
    rows_a: Sequence, rows_b: Sequence, name_a: str = 'A', name_b: str = 'B'
) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """Per-image correctness of two prediction lists, matched by image path.

    Args:
        rows_a (Sequence): Predictions with ``image``, ``gt_class`` and ``correct``
            (:class:`mmtl.analysis.error_analysis.Prediction`).
        rows_b (Sequence): The same images, in any order.
        name_a (str): A's name, for messages.
        name_b (str): B's name, for messages.

    Returns:
        tuple: ``correct_a``, ``correct_b`` (bool arrays in A's order) and the image paths.

    Raises:
        BadDataError: An image appears twice, only in one list, or with two true classes.
    """
    by_image = {}
    for name, rows in ((name_a, rows_a), (name_b, rows_b)):
        seen = {}
        for row in rows:
            if row.image in seen:
                raise BadDataError(f'{name}: image {row.image!r} appears twice')
            seen[row.image] = row
        by_image[name] = seen
    images_a, images_b = by_image[name_a], by_image[name_b]
    only_a = sorted(set(images_a) - set(images_b))
    only_b = sorted(set(images_b) - set(images_a))
    if only_a or only_b:
        example = (only_a or only_b)[0]
        raise BadDataError(
            f'{name_a} and {name_b} are not the same test images: {len(only_a)} only in '
            f'{name_a}, {len(only_b)} only in {name_b} (e.g. {example!r})'
        )
    images = [row.image for row in rows_a]
    for image in images:
        if images_a[image].gt_class != images_b[image].gt_class:
            raise BadDataError(
                f'{image!r}: true class {images_a[image].gt_class!r} in {name_a} but '
                f'{images_b[image].gt_class!r} in {name_b}'
            )
    correct_a = np.array([images_a[i].correct for i in images], dtype=bool)
    correct_b = np.array([images_b[i].correct for i in images], dtype=bool)
    return correct_a, correct_b, images
