# Amounts of money are grouped in thousands with commas in Chinese too (¥121,800.00);
# Django's Chinese formats group nothing, so ¥5600 stood next to ¥121,800.00.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
# "1月1日", not Django's zero-padded "01月1日".
MONTH_DAY_FORMAT = "n月j日"
