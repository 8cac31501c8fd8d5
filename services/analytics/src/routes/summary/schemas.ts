import { Type } from 'typebox'

const MONEY = { pattern: '^\\d+\\.\\d{2}$', description: 'decimal string with two places' }
const Money = Type.String({ ...MONEY, examples: ['699.00'] })
const Day = Type.String({ format: 'date', examples: ['2026-11-25'] })
const Month = Type.String({ pattern: '^\\d{4}-\\d{2}$', examples: ['2026-11'] })
const Count = Type.Integer({ minimum: 0 })

const SignedPercent = (description: string) => Type.Union([Type.String({ pattern: '^-?\\d+\\.\\d{2}$' }), Type.Null()], { description })

const Totals = Type.Object({
  revenue: Money,
  orders: Count,
  successful_orders: Count,
  failed_orders: Count,
  pending_orders: Count,
  success_rate: Type.Union([Type.String({ pattern: '^\\d+\\.\\d{2}$' }), Type.Null()], { description: 'successful orders / all orders, percent with two places; null without orders' }),
  // no `examples` inside a union: OpenAPI 3.0 allows none in a schema there (@fastify/swagger converts only top-level ones)
  average_order_value: Type.Union([Type.String(MONEY), Type.Null()], { description: 'revenue / successful orders, two places rounded half up; null without successful orders' })
})

export const SummaryResponse = Type.Object({
  start_date: Day,
  end_date: Day,
  currency: Type.String({ description: 'currency of every amount' }),
  timezone: Type.String({ description: 'the business time zone (IANA) whose calendar days every date here is', examples: ['Asia/Kolkata'] }),
  today: Day,
  totals: Totals,
  previous: Type.Object({ start_date: Day, end_date: Day, totals: Totals }, { description: 'the period of the same length just before the range' }),
  change: Type.Object({
    revenue: SignedPercent('percent change against the previous period, two places; null when the previous figure is 0'),
    orders: SignedPercent('percent change in orders'),
    successful_orders: SignedPercent('percent change in successful orders'),
    average_order_value: SignedPercent('percent change in the average order value; null when either has no successful order'),
    success_rate_points: SignedPercent('difference of the success rates in percentage points; null when either period has no order')
  }),
  daily_revenue: Type.Array(Type.Object({ date: Day, revenue: Money, orders: Count, successful_orders: Count }), { description: 'every day of the range, zeros included' }),
  revenue_by_game: Type.Array(Type.Object({ game_id: Type.Integer(), game_name: Type.String(), revenue: Money, orders: Count, successful_orders: Count }), { description: 'games with orders in the range, by revenue (successful orders) then name' }),
  top_products: Type.Array(Type.Object({ product_id: Type.Integer(), product_name: Type.String(), game_name: Type.String(), successful_orders: Count, revenue: Money }), { description: 'at most 5, by successful orders then name' }),
  top_users: Type.Array(Type.Object({ user_id: Type.String(), user_email: Type.String(), orders: Count }), { description: 'at most 5, by orders of any status then email' }),
  failed_payments: Type.Object({
    this_month: Type.Object({ month: Month, count: Count }, { description: 'the current calendar month of the business time zone, whatever the range' }),
    by_month: Type.Array(Type.Object({ month: Month, count: Count }), { description: 'each month the range touches, counting the range\'s days only' })
  }, { description: 'a failed payment counts on the business day its order was created' })
})
