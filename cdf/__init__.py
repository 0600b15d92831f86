"""MakeCat catalog definition files (formats.md section 5): text in, model out, and back.

Pure: no file system access and no imports from the rest of the project.
"""
