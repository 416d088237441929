import { Body, Controller, Get, Param, Post } from "@nestjs/common";

@Controller("orders")
export class OrdersController {
  @Get()
  findAll() {
    return [];
  }

  @Get(":id")
  findOne(@Param("id") id: string) {
    return id;
  }

  @Post()
  create(@Body() dto: CreateOrderDto) {
    return dto;
  }

  // Not a route: a helper without an HTTP decorator.
  total() {
    return 0;
  }
}
