# Spanish readers group thousands with a point in amounts of money (121.800,00 ¥), the
# usage of Spain and of the CLDR; Django's non-breaking space reads like two numbers.
THOUSAND_SEPARATOR = "."
NUMBER_GROUPING = 3
# "1 ene": short enough for the occupancy grid's columns and the admin's day links.
MONTH_DAY_FORMAT = "j b"
