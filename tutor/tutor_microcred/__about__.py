# Released together with openedx-microcred: the default MICROCRED_VERSION pins the package to this version.
__version__ = "0.1.0"
