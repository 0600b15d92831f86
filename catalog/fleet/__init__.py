"""Hashing beyond one process: batches of paths on executors (local processes or a Dask cluster)
with an incremental hash cache in front (issue 16). ``executors`` holds the seam; ``dask`` the only
module importing Dask."""
