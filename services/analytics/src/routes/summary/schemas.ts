import { Type } from 'typebox'

const Money = Type.String({ pattern: '^\\d+\\.\\d{2}$', description: 'decimal string with two places', examples: ['699.00'] })
const Day = Type.String({ format: 'date', examples: ['2026-11-25'] })
const Month = Type.String({ pattern: '^\\d{4}-\\d{2}$', examples: ['2026-11'] })
const Count = Type.Integer({ minimum: 0 })

export const SummaryResponse = Type.Object({
  start_date: Day,
  end_date: Day,
  currency: Type.String({ description: 'currency of every amount' }),
  totals: Type.Object({
    revenue: Money,
    orders: Count,
    successful_orders: Count,
    failed_orders: Count,
    pending_orders: Count,
    success_rate: Type.Union([Type.String({ pattern: '^\\d+\\.\\d{2}$' }), Type.Null()], { description: 'successful orders / all orders, percent with two places; null without orders' })
  }),
  daily_revenue: Type.Array(Type.Object({ date: Day, revenue: Money, orders: Count, successful_orders: Count }), { description: 'every day of the range, zeros included' }),
  revenue_by_game: Type.Array(Type.Object({ game_id: Type.Integer(), game_name: Type.String(), revenue: Money, orders: Count, successful_orders: Count }), { description: 'games with orders in the range, by revenue (successful orders) then name' }),
  top_products: Type.Array(Type.Object({ product_id: Type.Integer(), product_name: Type.String(), game_name: Type.String(), successful_orders: Count, revenue: Money }), { description: 'at most 5, by successful orders then name' }),
  top_users: Type.Array(Type.Object({ user_id: Type.String(), user_email: Type.String(), orders: Count }), { description: 'at most 5, by orders of any status then email' }),
  failed_payments: Type.Object({
    this_month: Type.Object({ month: Month, count: Count }, { description: 'the current UTC calendar month, whatever the range' }),
    by_month: Type.Array(Type.Object({ month: Month, count: Count }), { description: 'each month the range touches, counting the range\'s days only' })
  }, { description: 'a failed payment counts on the UTC day its order was created' })
})
