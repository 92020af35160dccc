"""What readers see: sentences and labels, tables, figures, notebook sections and the report site."""
