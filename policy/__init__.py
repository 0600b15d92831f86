"""WDAC (App Control for Business) policies: SiPolicy model, XML, binary, generators, signing.

sipolicy.md describes the formats; each module names the section it implements.
"""
