"""AI on the selection: requests, region handling, the engine, backends, models, records.
No Qt here; torch, diffusers and transformers are imported only by the local backend
(`backends/local.py`), and only when a model runs. The map: docs/architecture.md.

The flow, with the functions each step calls::

    from aiart_desktop.ai.capture import make_request      # UI thread: copy the region
    from aiart_desktop.ai.setup import default_engine      # the composition root
    from aiart_desktop.ai.apply import apply_result         # UI thread: one undo step

    req = make_request(doc, "inpaint", prompt="a red boat", model="auto", steps=20,
                       batch_size=4)                        # frozen; pixels copied
    engine = default_engine()                               # models + backends, once
    result = engine.run(req, on_progress, cancelled)        # worker thread; Cancelled / AiError
    layer = apply_result(doc, result, variant_index=0)      # new layer, provenance recorded

Modules: `requests` (request / result / progress types), `capture` (document -> request: the
one builder, `make_request(doc, op, target=...)`), `outpaint` (the `OutpaintLayout` an
outpaint request carries), `region` (context, snapping, scaling, masks, colour matching),
`composite` (a variation over the original: `variant_layer`, `variant_over_original`),
`engine` (region work, backend choice, records), `backend` (the `Backend` protocol), `job`
(the backend-neutral `Job`, plain data plus pictures), `setup` (the composition root),
`apply` (result -> layer), `latents` (exploration), `segment` (Select Object's headless half:
the picture's `View`, prompts, the document-sized mask; the model runs in
`backends/local_segment.py`), `errors`, `cli_run` (`aiart-desktop run`). Subpackages:
`backends` (the local diffusers backend, the classical fill, the style networks, Segment
Anything, cheap previews), `models` (the `ModelSource` protocol, the registry and its
file-facts cache, the catalogue, checkpoints, downloads, hashes, IP-Adapters), `styles`
(built-in styles, the user's style library, text presets), `records` (generation history,
PNG parameters, C2PA).
"""
