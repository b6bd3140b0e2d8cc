-- Portfolio at risk can never exceed the portfolio: the buckets are disjoint parts of cartera_total.
{% test par_within_portfolio(model) %}
select *
from {{ model }}
where par_1_30 + par_31_60 + par_61_90 + par_90_mas > cartera_total
   or par_1_30 < 0 or par_31_60 < 0 or par_61_90 < 0 or par_90_mas < 0
{% endtest %}
