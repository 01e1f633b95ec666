"""HTTP routers, one per protocol surface, all over the same predictor core."""
