"""Parts of the pure-Python codec backend, assembled by ``wsframe._codec_py``."""
