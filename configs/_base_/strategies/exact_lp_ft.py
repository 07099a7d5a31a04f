# Strategy "LP-FT from the exact probe": before fine-tuning, the head is set to the logistic
# regression fitted with L-BFGS on the pretrained backbone's features (FeatureCacheHook with
# solve_head=True, nothing cached: the backbone trains), so the backbone's first gradients come
# from a head that already fits its features. Then everything trains at the recipe's lr.
custom_hooks = [dict(type='FeatureCacheHook', solve_head=True, cache=False)]
