"""The domain: police forces, the outcome taxonomy and offence codes, financial years and quarters, and the counting-rule breaks."""
