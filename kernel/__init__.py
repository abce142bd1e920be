"""The platform's shared kernel: what every app builds on and nothing in it imports.

`errors` is the error matrix (every refusal and how each surface renders it);
`prebuilt` builds hot-path SQL once from the models' own tables and columns. Both
sit below `accounts`, `billing` and `sessions_app`, so none of those has to import
another just to refuse a request.
"""
