"""The `vidmatte` command line (installed as the package ``vidmatte_cli``)."""
