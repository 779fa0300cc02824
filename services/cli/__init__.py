"""The ``acoustid`` command. It sits above the services so that ``libs/`` never names them."""
