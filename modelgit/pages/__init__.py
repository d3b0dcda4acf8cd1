"""Pages a person reads: model cards (Markdown, HTML) and the static registry site."""
