# "Jan 1": short enough for the occupancy grid's columns and the admin's day links.
MONTH_DAY_FORMAT = "M j"
