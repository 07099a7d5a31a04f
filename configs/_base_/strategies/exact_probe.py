# Strategy "exact linear probe": the backbone is frozen, its features are computed once
# (FeatureCacheHook) and the head is the multinomial logistic regression fitted on them with
# L-BFGS, the weight decay picked on val top-1 (the CLIP/DINOv2 linear-evaluation protocol).
# No epoch is trained: the fitted model is saved as exact_probe.pth in the work dir, a normal
# mmengine checkpoint of the whole model.
model = dict(type='TransferClassifier', frozen_modules=['backbone'])
custom_hooks = [dict(type='FeatureCacheHook', solve_head=True, stop_after_solve=True)]
