"""The catalog: products and their variants, the shop, and downloads of digital products. See README
"Architecture in brief"."""
