-- Case 3's baseline: the answer of get_sales_metrics (days + totals) computed
-- from the raw orders at request time, the way it would be without
-- daily_sales_metrics. Same formulas as private.compute_daily_sales_metrics,
-- grouped by local day; runs with the caller's rights (RLS applies), like
-- get_sales_metrics. Bench stack only.
create or replace function bench.sales_metrics_from_orders(p_shop_id uuid, p_start date, p_end date)
returns jsonb
language sql
stable
set search_path = ''
as $$
  with shop as (
    select s.timezone from public.shops s where s.id = p_shop_id
  ), period_orders as (
    select (o.submitted_at at time zone shop.timezone)::date as date, o.status::text as status,
           o.subtotal, o.discount, o.line_items,
           coalesce(o.customer_ref, o.customer_phone, o.customer_name) as customer
      from public.form_submissions o, shop
     where o.shop_id = p_shop_id
       and o.submitted_at >= (p_start::timestamp at time zone shop.timezone)
       and o.submitted_at < ((p_end + 1)::timestamp at time zone shop.timezone)
  ), revenue_lines as (
    select o.date, l.quantity,
           l.quantity * coalesce(l.unit_price, 0) as revenue,
           l.quantity * coalesce(l.unit_cost, i.cost, 0) as cost,
           coalesce(i.category, 'uncategorized') as category
      from period_orders o
     cross join lateral (select (e ->> 'item_id')::uuid as item_id, (e ->> 'quantity')::integer as quantity,
                                (e ->> 'unit_price')::numeric as unit_price, (e ->> 'unit_cost')::numeric as unit_cost
                           from jsonb_array_elements(o.line_items) e) l
      left join public.items i on i.id = l.item_id and i.shop_id = p_shop_id
     where o.status in ('completed', 'delivered') and l.quantity > 0
  ), order_totals as (
    select date,
           count(*)::integer as orders,
           (count(*) filter (where status in ('completed', 'delivered')))::integer as completed,
           (count(*) filter (where status in ('cancelled', 'refunded')))::integer as cancelled,
           coalesce(sum(subtotal) filter (where status in ('completed', 'delivered')), 0) as gross_revenue,
           coalesce(sum(discount) filter (where status in ('completed', 'delivered')), 0) as discounts,
           (count(distinct customer) filter (where status in ('completed', 'delivered')))::integer as unique_customers
      from period_orders group by date
  ), line_totals as (
    select date, coalesce(sum(quantity), 0)::integer as items_sold, round(coalesce(sum(cost), 0), 2) as cost_of_goods
      from revenue_lines group by date
  ), categories as (
    select date, jsonb_object_agg(category, jsonb_build_object('units', units, 'revenue', revenue)) as breakdown
      from (select date, category, sum(quantity) as units, round(sum(revenue), 2) as revenue
              from revenue_lines group by date, category) c
     group by date
  ), days as (
    select t.date, t.orders, t.completed, t.cancelled, t.gross_revenue, t.discounts,
           t.gross_revenue - t.discounts as net_revenue,
           coalesce(l.cost_of_goods, 0) as cost_of_goods,
           t.gross_revenue - t.discounts - coalesce(l.cost_of_goods, 0) as gross_profit,
           coalesce(l.items_sold, 0) as items_sold,
           case when t.completed > 0 then round((t.gross_revenue - t.discounts) / t.completed, 2) else 0 end
             as average_order_value,
           t.unique_customers,
           coalesce(c.breakdown, '{}'::jsonb) as category_breakdown
      from order_totals t
      left join line_totals l using (date)
      left join categories c using (date)
  )
  select jsonb_build_object(
           'days', coalesce(jsonb_agg(to_jsonb(d) order by d.date), '[]'::jsonb),
           'totals', jsonb_build_object(
             'days', count(*),
             'orders', coalesce(sum(d.orders), 0),
             'completed', coalesce(sum(d.completed), 0),
             'cancelled', coalesce(sum(d.cancelled), 0),
             'gross_revenue', coalesce(sum(d.gross_revenue), 0),
             'discounts', coalesce(sum(d.discounts), 0),
             'net_revenue', coalesce(sum(d.net_revenue), 0),
             'cost_of_goods', coalesce(sum(d.cost_of_goods), 0),
             'gross_profit', coalesce(sum(d.gross_profit), 0),
             'items_sold', coalesce(sum(d.items_sold), 0),
             'average_order_value',
               case when coalesce(sum(d.completed), 0) > 0
                    then round(sum(d.net_revenue) / sum(d.completed), 2) else 0 end))
    from days d
$$;
grant usage on schema bench to authenticated;
grant execute on function bench.sales_metrics_from_orders(uuid, date, date) to authenticated;
