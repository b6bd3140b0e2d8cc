-- Fails with the duplicated key values when `columns` do not identify a row (no dbt_utils: works offline).
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
