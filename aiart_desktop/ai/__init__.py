"""AI on the selection: requests, region handling, engines, models. No Qt here; torch,
diffusers and transformers are imported only in `diffusion.py`, and only when a model runs.

The flow (see DESIGN.md), with the functions each step calls::

    from aiart_desktop.ai.capture import make_request      # UI thread: copy the region
    from aiart_desktop.ai import engine                     # worker thread: run it
    from aiart_desktop.ai.apply import apply_result         # UI thread: one undo step

    req = make_request(doc, "inpaint", prompt="a red boat", model="auto", steps=20,
                       batch_size=4)                        # frozen; pixels copied
    result = engine.run(req, on_progress, cancelled)        # raises Cancelled / AiError
    layer = apply_result(doc, result, variant_index=0)      # new layer, provenance recorded

Modules: `requests` (request / result / progress types), `capture` (document -> request,
outpaint canvas helpers), `region` (context, snapping, scaling, masks, colour matching),
`engine` (backend choice, the job), `diffusion` (diffusers pipelines), `classical`
(PatchMatch / OpenCV fill), `models` + `catalogue` + `checkpoints` + `downloads` (model
registry), `previews` (latent -> RGB), `apply` (result -> layer), `errors`, `cli_run`
(`aiart-desktop run`).
"""
