"""Template tags of the plugin's pages (the Studio pages' ``microcred_studio``)."""
