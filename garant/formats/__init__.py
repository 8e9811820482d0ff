"""Date and number formats per language (FORMAT_MODULE_PATH). The input formats are the same
in every language, defined here once: dd/mm/yyyy as shown, then ISO as sent by the browser's
date pickers and by scripts (`garant.core.dates`)."""

DATE_INPUT_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]
DATETIME_INPUT_FORMATS = ["%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"]
